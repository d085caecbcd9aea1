import { useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { errorText, sessionClient } from '../api.js';

/**
 * Sign-in with an access key: the server turns the secret into an HttpOnly session cookie; the
 * secret leaves the page's memory once the form is sent and is never stored.
 */
export function SignInPage() {
  const queries = useQueryClient();
  const [secret, setSecret] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const session = await sessionClient().signIn(secret);
      setSecret('');
      queries.setQueryData(['session'], session);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main className="signin card">
      <h1>Sign in to Trainyard</h1>
      <form className="stack" onSubmit={(e) => void submit(e)}>
        <label>
          Access key secret
          <input
            type="password"
            name="secret"
            autoComplete="off"
            required
            value={secret}
            onChange={(e) => setSecret(e.target.value)}
          />
        </label>
        <p className="muted">
          An administrator creates keys with <code>trainyard keys create</code>; the first admin key is
          printed when the server starts for the first time.
        </p>
        {error ? (
          <p role="alert" className="state error">
            {error}
          </p>
        ) : null}
        <button type="submit" className="primary" disabled={busy || secret === ''}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
