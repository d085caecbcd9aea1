import { lazy, Suspense, useEffect, useState } from 'react';
import { NavLink, Route, Routes } from 'react-router';
import { can, type Role } from './api.js';
import { ErrorState, Loading } from './components/states.js';
import { useLiveEvents } from './live-events.js';
import { DashboardPage } from './pages/dashboard.js';
import { SignInPage } from './pages/sign-in.js';
import { SessionProvider, useCurrentSession, useSession } from './session.js';

// Pages beyond the dashboard load on demand: the first render needs only the shell.
const DatasetsPage = lazy(() => import('./pages/datasets.js').then((m) => ({ default: m.DatasetsPage })));
const DatasetPage = lazy(() => import('./pages/dataset.js').then((m) => ({ default: m.DatasetPage })));
const ProcessingJobPage = lazy(() =>
  import('./pages/processing-job.js').then((m) => ({ default: m.ProcessingJobPage })),
);
const TrainingJobsPage = lazy(() =>
  import('./pages/training-jobs.js').then((m) => ({ default: m.TrainingJobsPage })),
);
const TrainingJobPage = lazy(() =>
  import('./pages/training-job.js').then((m) => ({ default: m.TrainingJobPage })),
);
const NewTrainingJobPage = lazy(() =>
  import('./pages/new-training-job.js').then((m) => ({ default: m.NewTrainingJobPage })),
);
const ProcessingJobsPage = lazy(() =>
  import('./pages/processing-jobs.js').then((m) => ({ default: m.ProcessingJobsPage })),
);
const ExperimentsPage = lazy(() =>
  import('./pages/experiments.js').then((m) => ({ default: m.ExperimentsPage })),
);
const ModelsPage = lazy(() => import('./pages/models.js').then((m) => ({ default: m.ModelsPage })));
const ModelGroupsPage = lazy(() =>
  import('./pages/registry.js').then((m) => ({ default: m.ModelGroupsPage })),
);
const ModelGroupPage = lazy(() => import('./pages/registry.js').then((m) => ({ default: m.ModelGroupPage })));
const ModelPackagePage = lazy(() =>
  import('./pages/registry.js').then((m) => ({ default: m.ModelPackagePage })),
);
const TuningJobsPage = lazy(() => import('./pages/tuning.js').then((m) => ({ default: m.TuningJobsPage })));
const TuningJobPage = lazy(() => import('./pages/tuning.js').then((m) => ({ default: m.TuningJobPage })));
const EndpointsPage = lazy(() => import('./pages/endpoints.js').then((m) => ({ default: m.EndpointsPage })));
const EndpointPage = lazy(() => import('./pages/endpoint.js').then((m) => ({ default: m.EndpointPage })));
const DeployPage = lazy(() => import('./pages/deploy.js').then((m) => ({ default: m.DeployPage })));
const MessagingPage = lazy(() => import('./pages/messaging.js').then((m) => ({ default: m.MessagingPage })));
const TopicPage = lazy(() => import('./pages/messaging-topic.js').then((m) => ({ default: m.TopicPage })));
const StreamPage = lazy(() => import('./pages/messaging-stream.js').then((m) => ({ default: m.StreamPage })));
const SettingsPage = lazy(() => import('./pages/settings.js').then((m) => ({ default: m.SettingsPage })));

type Theme = 'system' | 'light' | 'dark';

function useTheme(): [Theme, (t: Theme) => void] {
  // Only the colour preference is kept in the browser.
  const [theme, setTheme] = useState<Theme>(
    () => (localStorage.getItem('trainyard-theme') as Theme) ?? 'system',
  );
  useEffect(() => {
    if (theme === 'system') document.documentElement.removeAttribute('data-theme');
    else document.documentElement.setAttribute('data-theme', theme);
    localStorage.setItem('trainyard-theme', theme);
  }, [theme]);
  return [theme, setTheme];
}

const nav: { to: string; label: string; needs: 'read' | 'invoke' }[] = [
  { to: '/', label: 'Dashboard', needs: 'read' },
  { to: '/datasets', label: 'Data', needs: 'read' },
  { to: '/processing-jobs', label: 'Processing', needs: 'read' },
  { to: '/training-jobs', label: 'Training', needs: 'read' },
  { to: '/tuning-jobs', label: 'Tuning', needs: 'read' },
  { to: '/experiments', label: 'Experiments', needs: 'read' },
  { to: '/models', label: 'Models', needs: 'read' },
  { to: '/registry', label: 'Registry', needs: 'read' },
  { to: '/inference', label: 'Endpoints', needs: 'invoke' },
  { to: '/messaging', label: 'Messaging', needs: 'read' },
  { to: '/settings', label: 'Settings', needs: 'read' },
];

function Shell() {
  const { session, signOut } = useSession();
  const [theme, setTheme] = useTheme();
  const [signingOut, setSigningOut] = useState(false);
  useLiveEvents();
  const role: Role = session.role;
  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <aside className="sidebar">
        <NavLink to="/" className="brand">
          Trainyard
        </NavLink>
        <nav aria-label="Workflow">
          {nav
            .filter((n) => can(role, n.needs) || (role === 'invoker' && n.to === '/'))
            .map((n) => (
              <NavLink key={n.to} to={n.to} end={n.to === '/'}>
                {n.label}
              </NavLink>
            ))}
        </nav>
        <div className="who">
          <span>
            Signed in as <strong>{session.name}</strong> ({role})
          </span>
          <label>
            Theme
            <select value={theme} onChange={(e) => setTheme(e.target.value as Theme)}>
              <option value="system">System</option>
              <option value="light">Light</option>
              <option value="dark">Dark</option>
            </select>
          </label>
          <button
            type="button"
            disabled={signingOut}
            onClick={() => {
              setSigningOut(true);
              void signOut().finally(() => setSigningOut(false));
            }}
          >
            Sign out
          </button>
        </div>
      </aside>
      <main id="main" tabIndex={-1}>
        <Suspense fallback={<Loading what="page" />}>
          <Routes>
            <Route path="/" element={<DashboardPage />} />
            <Route path="/datasets" element={<DatasetsPage />} />
            <Route path="/datasets/:name" element={<DatasetPage />} />
            <Route path="/processing-jobs" element={<ProcessingJobsPage />} />
            <Route path="/processing-jobs/:name" element={<ProcessingJobPage />} />
            <Route path="/training-jobs" element={<TrainingJobsPage />} />
            <Route path="/training-jobs/new" element={<NewTrainingJobPage />} />
            <Route path="/training-jobs/:name" element={<TrainingJobPage />} />
            <Route path="/experiments" element={<ExperimentsPage />} />
            <Route path="/tuning-jobs" element={<TuningJobsPage />} />
            <Route path="/tuning-jobs/:name" element={<TuningJobPage />} />
            <Route path="/models" element={<ModelsPage />} />
            <Route path="/registry" element={<ModelGroupsPage />} />
            <Route path="/registry/:group" element={<ModelGroupPage />} />
            <Route path="/registry/:group/:version" element={<ModelPackagePage />} />
            <Route path="/deploy" element={<DeployPage />} />
            {/* Not /endpoints: the server keeps /endpoints/… for invocations, outside the console. */}
            <Route path="/inference" element={<EndpointsPage />} />
            <Route path="/inference/:name" element={<EndpointPage />} />
            <Route path="/messaging" element={<MessagingPage />} />
            <Route path="/messaging/topics/:name" element={<TopicPage />} />
            <Route path="/messaging/streams/:name" element={<StreamPage />} />
            <Route path="/settings" element={<SettingsPage />} />
            <Route path="*" element={<h1>Not found</h1>} />
          </Routes>
        </Suspense>
      </main>
    </div>
  );
}

export function App() {
  const current = useCurrentSession();
  if (current.isPending) return <Loading what="session" />;
  if (current.isError)
    return (
      <main className="signin">
        <ErrorState error={current.error} retry={() => void current.refetch()} />
      </main>
    );
  if (!current.data) return <SignInPage />;
  return (
    <SessionProvider session={current.data}>
      <Shell />
    </SessionProvider>
  );
}
