import { useSearchParams } from 'react-router';

/**
 * Page tokens live in the URL (`?page=`), so a page of a list is shareable; `back` keeps the
 * tokens seen so far for the Previous button. A page with several lists gives each its own
 * parameter (`param`, its tokens seen so far in `<param>-back`).
 */
export function usePageToken(param = 'page'): string | undefined {
  const [params] = useSearchParams();
  return params.get(param) ?? undefined;
}

export function Pager({
  next,
  label,
  param = 'page',
}: {
  next: string | undefined;
  label: string;
  param?: string;
}) {
  const [params, setParams] = useSearchParams();
  const backParam = param === 'page' ? 'back' : `${param}-back`;
  const current = params.get(param);
  const back = params.getAll(backParam);
  const go = (token: string | undefined, nextBack: string[]) => {
    const p = new URLSearchParams(params);
    p.delete(param);
    p.delete(backParam);
    if (token) p.set(param, token);
    for (const b of nextBack) p.append(backParam, b);
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
