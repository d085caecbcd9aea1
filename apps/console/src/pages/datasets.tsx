import { useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { can, errorText, progressFetch, sessionClient } from '../api.js';
import { Pager, usePageToken } from '../components/pager.js';
import { Empty, QueryView, When } from '../components/states.js';
import { useClient, useSession } from '../session.js';

function UploadForm() {
  const { session } = useSession();
  const queries = useQueryClient();
  const navigate = useNavigate();
  const [name, setName] = useState('');
  const [target, setTarget] = useState('');
  const [file, setFile] = useState<File>();
  const [sent, setSent] = useState<{ loaded: number; total: number }>();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!file) return;
    setBusy(true);
    setError(undefined);
    setSent({ loaded: 0, total: file.size });
    try {
      // The SDK streams the file through an XHR-backed fetch so the bar follows the bytes sent.
      const uploader = sessionClient(
        session.csrfToken,
        progressFetch((loaded, total) => setSent({ loaded, total: total || file.size })),
      );
      const version = await uploader.upload(
        'uploadDatasetVersion',
        {
          params: { name },
          query: { fileName: file.name, ...(target ? { target } : {}) },
        },
        file,
        { contentType: file.type || 'application/octet-stream' },
      );
      void queries.invalidateQueries({ queryKey: ['datasets'] });
      navigate(`/datasets/${encodeURIComponent(version.dataset)}?version=${version.version}`);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  const percent = sent && sent.total > 0 ? Math.round((sent.loaded / sent.total) * 100) : 0;
  return (
    <form className="card stack" onSubmit={(e) => void submit(e)} aria-labelledby="upload-title">
      <h2 id="upload-title">Upload a dataset version</h2>
      <div className="row">
        <label>
          Dataset name
          <input
            name="dataset"
            required
            pattern="[a-z0-9][a-z0-9\-]*"
            title="lower-case letters, digits and -"
            value={name}
            onChange={(e) => setName(e.target.value)}
          />
        </label>
        <label>
          Target column (optional)
          <input name="target" value={target} onChange={(e) => setTarget(e.target.value)} />
        </label>
        <label>
          File (CSV, JSON Lines or Parquet)
          <input
            type="file"
            name="file"
            required
            accept=".csv,.jsonl,.json,.parquet,text/csv"
            onChange={(e) => setFile(e.target.files?.[0])}
          />
        </label>
      </div>
      {sent ? (
        <label>
          Upload progress {percent}%
          <progress className="progress" max={100} value={percent} />
        </label>
      ) : null}
      {error ? (
        <p role="alert" className="state error">
          {error}
        </p>
      ) : null}
      <div>
        <button type="submit" className="primary" disabled={busy || !file || !name}>
          {busy ? 'Uploading…' : 'Upload'}
        </button>
      </div>
    </form>
  );
}

export function DatasetsPage() {
  const client = useClient();
  const { session } = useSession();
  const pageToken = usePageToken();
  const list = useQuery({
    queryKey: ['datasets', pageToken],
    queryFn: () => client.call('listDatasets', { query: { limit: 20, ...(pageToken ? { pageToken } : {}) } }),
  });
  return (
    <>
      <h1>Data</h1>
      {can(session.role, 'write') ? <UploadForm /> : null}
      <h2>Datasets</h2>
      <QueryView query={list} what="datasets">
        {(page) =>
          page.items.length === 0 ? (
            <Empty>No datasets yet. Upload a CSV above, or run the sample project from the dashboard.</Empty>
          ) : (
            <>
              <table>
                <thead>
                  <tr>
                    <th>Name</th>
                    <th>Latest version</th>
                    <th>Description</th>
                    <th>Updated</th>
                  </tr>
                </thead>
                <tbody>
                  {page.items.map((d) => (
                    <tr key={d.name}>
                      <td>
                        <Link to={`/datasets/${encodeURIComponent(d.name)}`}>{d.name}</Link>
                      </td>
                      <td>{d.latestVersion}</td>
                      <td>{d.description}</td>
                      <td>
                        <When at={d.updatedAt} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <Pager next={page.nextPageToken} label="Datasets" />
            </>
          )
        }
      </QueryView>
    </>
  );
}
