import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { Pager, usePageToken } from '../components/pager.js';
import { Empty, QueryView, StatusBadge, When } from '../components/states.js';
import { StatusFilter, useStatusFilter } from '../components/status-filter.js';
import { useClient } from '../session.js';

export function ProcessingJobsPage() {
  const client = useClient();
  const status = useStatusFilter();
  const pageToken = usePageToken();
  const list = useQuery({
    queryKey: ['processing-jobs', status, pageToken],
    queryFn: () =>
      client.call('listProcessingJobs', {
        query: { limit: 20, ...(status ? { status } : {}), ...(pageToken ? { pageToken } : {}) },
      }),
  });
  return (
    <>
      <h1>Processing jobs</h1>
      <StatusFilter />
      <QueryView query={list} what="processing jobs">
        {(page) =>
          page.items.length === 0 ? (
            <Empty>{status ? `No ${status} processing jobs.` : 'No processing jobs yet.'}</Empty>
          ) : (
            <>
              <table>
                <thead>
                  <tr>
                    <th>Name</th>
                    <th>Status</th>
                    <th>Stage</th>
                    <th>Created</th>
                    <th>Failure</th>
                  </tr>
                </thead>
                <tbody>
                  {page.items.map((j) => (
                    <tr key={j.ProcessingJobName}>
                      <td>
                        <Link to={`/processing-jobs/${encodeURIComponent(j.ProcessingJobName)}`}>
                          {j.ProcessingJobName}
                        </Link>
                      </td>
                      <td>
                        <StatusBadge status={j.ProcessingJobStatus} />
                      </td>
                      <td>{j.SecondaryStatus}</td>
                      <td>
                        <When at={j.CreationTime} />
                      </td>
                      <td>{j.FailureReason ?? ''}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <Pager next={page.nextPageToken} label="Processing jobs" />
            </>
          )
        }
      </QueryView>
    </>
  );
}
