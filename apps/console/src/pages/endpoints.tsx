import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { can } from '../api.js';
import { EndpointPicker } from '../components/endpoint-picker.js';
import { Pager, usePageToken } from '../components/pager.js';
import { Empty, QueryView, StatusBadge, When } from '../components/states.js';
import { useClient, useSession } from '../session.js';

export function EndpointsPage() {
  const client = useClient();
  const { session } = useSession();
  const reads = can(session.role, 'read');
  const pageToken = usePageToken();
  const list = useQuery({
    queryKey: ['endpoints', pageToken],
    queryFn: () =>
      client.call('listEndpoints', { query: { limit: 20, ...(pageToken ? { pageToken } : {}) } }),
    enabled: reads,
  });
  if (!reads)
    return (
      <>
        <h1>Endpoints</h1>
        <EndpointPicker />
      </>
    );
  return (
    <>
      <h1>Endpoints</h1>
      <QueryView query={list} what="endpoints">
        {(page) =>
          page.items.length === 0 ? (
            <Empty>No endpoints yet. Deploy a completed training job from its page.</Empty>
          ) : (
            <>
              <table>
                <thead>
                  <tr>
                    <th>Name</th>
                    <th>Status</th>
                    <th>Created</th>
                    <th>Changed</th>
                  </tr>
                </thead>
                <tbody>
                  {page.items.map((e) => (
                    <tr key={e.EndpointName}>
                      <td>
                        <Link to={`/inference/${encodeURIComponent(e.EndpointName)}`}>{e.EndpointName}</Link>
                      </td>
                      <td>
                        <StatusBadge status={e.EndpointStatus} />
                      </td>
                      <td>
                        <When at={e.CreationTime} />
                      </td>
                      <td>
                        <When at={e.LastModifiedTime} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <Pager next={page.nextPageToken} label="Endpoints" />
            </>
          )
        }
      </QueryView>
    </>
  );
}
