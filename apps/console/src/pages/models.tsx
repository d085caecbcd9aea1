import { useQuery } from '@tanstack/react-query';
import { Pager, usePageToken } from '../components/pager.js';
import { Empty, QueryView, When } from '../components/states.js';
import { useClient } from '../session.js';

/** Models (SageMaker CreateModel). The registry's versions and approvals arrive with its API. */
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
