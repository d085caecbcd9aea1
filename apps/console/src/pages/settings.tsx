import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { can, type Role } from '../api.js';
import { Pager, usePageToken } from '../components/pager.js';
import { Empty, ErrorState, QueryView, When } from '../components/states.js';
import { useClient, useSession } from '../session.js';

const roles: Role[] = ['admin', 'developer', 'viewer', 'invoker'];

function CreateKey() {
  const client = useClient();
  const queries = useQueryClient();
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role>('viewer');
  const create = useMutation({
    mutationFn: () => client.call('createKey', { body: { name, role } }),
    onSuccess: () => {
      setName('');
      void queries.invalidateQueries({ queryKey: ['keys'] });
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate();
  };
  return (
    <form className="card stack" onSubmit={submit} aria-labelledby="create-key-title">
      <h2 id="create-key-title">Create an access key</h2>
      <div className="row">
        <label>
          Key name
          <input name="keyName" required value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        <label>
          Role
          <select name="role" value={role} onChange={(e) => setRole(e.target.value as Role)}>
            {roles.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </label>
      </div>
      {create.isError ? <ErrorState error={create.error} /> : null}
      {create.data ? (
        <div role="status" className="card">
          <p>
            Key <strong>{create.data.name}</strong> ({create.data.id}) created. Copy its secret now: it is not
            shown again.
          </p>
          <label>
            Secret of {create.data.name}
            <input
              readOnly
              value={create.data.secret}
              data-testid="new-key-secret"
              onFocus={(e) => e.target.select()}
            />
          </label>
        </div>
      ) : null}
      <div>
        <button type="submit" className="primary" disabled={create.isPending || name === ''}>
          Create key
        </button>
      </div>
    </form>
  );
}

function Keys() {
  const client = useClient();
  const { session } = useSession();
  const queries = useQueryClient();
  const pageToken = usePageToken();
  const list = useQuery({
    queryKey: ['keys', pageToken],
    queryFn: () => client.call('listKeys', { query: { limit: 50, ...(pageToken ? { pageToken } : {}) } }),
  });
  const revoke = useMutation({
    mutationFn: (id: string) => client.call('revokeKey', { params: { id } }),
    onSuccess: () => void queries.invalidateQueries({ queryKey: ['keys'] }),
  });
  return (
    <section aria-labelledby="keys-title">
      <h2 id="keys-title">Access keys</h2>
      <QueryView query={list} what="keys">
        {(page) =>
          page.items.length === 0 ? (
            <Empty>No keys.</Empty>
          ) : (
            <>
              <table>
                <thead>
                  <tr>
                    <th>Name</th>
                    <th>Id</th>
                    <th>Role</th>
                    <th>Created</th>
                    <th>Last used</th>
                    <th>State</th>
                  </tr>
                </thead>
                <tbody>
                  {page.items.map((k) => (
                    <tr key={k.id}>
                      <td>{k.name}</td>
                      <td>
                        <code>{k.id}</code>
                      </td>
                      <td>{k.role}</td>
                      <td>
                        <When at={k.createdAt} />
                      </td>
                      <td>
                        <When at={k.lastUsedAt ?? undefined} />
                      </td>
                      <td>
                        {k.revokedAt ? (
                          <span className="badge neutral">revoked</span>
                        ) : k.id === session.keyId ? (
                          <span className="muted">this session's key</span>
                        ) : (
                          <button
                            type="button"
                            className="danger"
                            disabled={revoke.isPending}
                            onClick={() => {
                              if (
                                window.confirm(`Revoke key ${k.name}? Clients using it stop working at once.`)
                              )
                                revoke.mutate(k.id);
                            }}
                          >
                            Revoke {k.name}
                          </button>
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <Pager next={page.nextPageToken} label="Keys" />
            </>
          )
        }
      </QueryView>
      {revoke.isError ? <ErrorState error={revoke.error} /> : null}
    </section>
  );
}

export function SettingsPage() {
  const { session } = useSession();
  return (
    <>
      <h1>Settings</h1>
      <p>
        Signed in with key <code>{session.keyId}</code> ({session.name}), role <strong>{session.role}</strong>
        .
      </p>
      {can(session.role, 'admin') ? (
        <>
          <CreateKey />
          <Keys />
        </>
      ) : (
        <p className="muted">Only administrators manage access keys.</p>
      )}
    </>
  );
}
