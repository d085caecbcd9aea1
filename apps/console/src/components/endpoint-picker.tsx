import { type FormEvent, useState } from 'react';
import { useNavigate } from 'react-router';

/**
 * An invoker key may call endpoints but not list them: it names the endpoint it was given and
 * goes to its invoke box.
 */
export function EndpointPicker() {
  const navigate = useNavigate();
  const [name, setName] = useState('');
  const submit = (e: FormEvent) => {
    e.preventDefault();
    navigate(`/inference/${encodeURIComponent(name.trim())}`);
  };
  return (
    <form className="card stack" onSubmit={submit} aria-labelledby="pick-endpoint-title">
      <h2 id="pick-endpoint-title">Invoke an endpoint</h2>
      <p className="muted">This key may invoke endpoints but not list them: enter the name you were given.</p>
      <label>
        Endpoint name
        <input name="endpoint" required value={name} onChange={(e) => setName(e.target.value)} />
      </label>
      <div>
        <button type="submit" className="primary" disabled={name.trim() === ''}>
          Open
        </button>
      </div>
    </form>
  );
}
