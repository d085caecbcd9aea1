import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { can } from '../api.js';
import { Pager, usePageToken } from '../components/pager.js';
import { Empty, QueryView, StatusBadge, When } from '../components/states.js';
import { StatusFilter, useStatusFilter } from '../components/status-filter.js';
import { useClient, useSession } from '../session.js';

export function TrainingJobsPage() {
  const client = useClient();
  const { session } = useSession();
  const status = useStatusFilter();
  const pageToken = usePageToken();
  const list = useQuery({
    queryKey: ['training-jobs', status, pageToken],
    queryFn: () =>
      client.call('listTrainingJobs', {
        query: { limit: 20, ...(status ? { status } : {}), ...(pageToken ? { pageToken } : {}) },
      }),
  });
  return (
    <>
      <h1>Training jobs</h1>
      <div className="row">
        <StatusFilter />
        {can(session.role, 'write') ? (
          <Link className="button" to="/training-jobs/new">
            New training job
          </Link>
        ) : null}
      </div>
      <QueryView query={list} what="training jobs">
        {(page) =>
          page.items.length === 0 ? (
            <Empty>{status ? `No ${status} training jobs.` : 'No training jobs yet.'}</Empty>
          ) : (
            <>
              <table>
                <thead>
                  <tr>
                    <th>Name</th>
                    <th>Status</th>
                    <th>Stage</th>
                    <th>Created</th>
                    <th>Ended</th>
                  </tr>
                </thead>
                <tbody>
                  {page.items.map((j) => (
                    <tr key={j.TrainingJobName}>
                      <td>
                        <Link to={`/training-jobs/${encodeURIComponent(j.TrainingJobName)}`}>
                          {j.TrainingJobName}
                        </Link>
                      </td>
                      <td>
                        <StatusBadge status={j.TrainingJobStatus} />
                      </td>
                      <td>{j.SecondaryStatus}</td>
                      <td>
                        <When at={j.CreationTime} />
                      </td>
                      <td>
                        <When at={j.TrainingEndTime} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <Pager next={page.nextPageToken} label="Training jobs" />
            </>
          )
        }
      </QueryView>
    </>
  );
}
