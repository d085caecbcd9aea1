import { useSearchParams } from 'react-router';

/**
 * Page tokens live in the URL (`?page=`), so a page of a list is shareable; `back` keeps the
 * tokens seen so far for the Previous button.
 */
export function usePageToken(): string | undefined {
  const [params] = useSearchParams();
  return params.get('page') ?? undefined;
}

export function Pager({ next, label }: { next: string | undefined; label: string }) {
  const [params, setParams] = useSearchParams();
  const current = params.get('page');
  const back = params.getAll('back');
  const go = (token: string | undefined, nextBack: string[]) => {
    const p = new URLSearchParams(params);
    p.delete('page');
    p.delete('back');
    if (token) p.set('page', token);
    for (const b of nextBack) p.append('back', b);
    setParams(p);
  };
  if (!current && !next) return null;
  return (
    <nav className="row" aria-label={`${label} pages`} style={{ marginTop: 8 }}>
      <button
        type="button"
        disabled={!current}
        onClick={() => go(back.at(-1) || undefined, back.slice(0, -1))}
      >
        Previous page
      </button>
      <button type="button" disabled={!next} onClick={() => go(next, [...back, current ?? ''])}>
        Next page
      </button>
    </nav>
  );
}
