import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { Pager, usePageToken } from '../components/pager.js';
import { Empty, QueryView, When } from '../components/states.js';
import { useClient } from '../session.js';

/** Models (SageMaker CreateModel); those made from a registered package link to its version. */
export function ModelsPage() {
  const client = useClient();
  const pageToken = usePageToken();
  const list = useQuery({
    queryKey: ['models', pageToken],
    queryFn: () => client.call('listModels', { query: { limit: 20, ...(pageToken ? { pageToken } : {}) } }),
  });
  return (
    <>
      <h1>Models</h1>
      <p className="muted">
        Versions, approvals and lineage are in the <Link to="/registry">model registry</Link>.
      </p>
      <QueryView query={list} what="models">
        {(page) =>
          page.items.length === 0 ? (
            <Empty>No models yet. Deploy a completed training job to create one.</Empty>
          ) : (
            <>
              <table>
                <thead>
                  <tr>
                    <th>Name</th>
                    <th>Image</th>
                    <th>Model package</th>
                    <th>Artifact</th>
                    <th>Created</th>
                  </tr>
                </thead>
                <tbody>
                  {page.items.map((m) => (
                    <tr key={m.ModelName}>
                      <td>{m.ModelName}</td>
                      <td>{m.PrimaryContainer.Image}</td>
                      <td>
                        <PackageLink arn={m.ModelPackageName} />
                      </td>
                      <td>
                        <code>{m.PrimaryContainer.ModelDataUrl}</code>
                      </td>
                      <td>
                        <When at={m.CreationTime} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <Pager next={page.nextPageToken} label="Models" />
            </>
          )
        }
      </QueryView>
    </>
  );
}

/** `…:model-package/<group>/<version>` links to that version's registry page. */
function PackageLink({ arn }: { arn: string | undefined }) {
  const m = arn ? /model-package\/([^/]+)\/(\d+)$/.exec(arn) : null;
  if (!m) return <span className="muted">—</span>;
  return (
    <Link to={`/registry/${encodeURIComponent(m[1] as string)}/${m[2]}`}>
      {m[1]} v{m[2]}
    </Link>
  );
}
