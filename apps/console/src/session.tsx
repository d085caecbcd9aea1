import { useQuery, useQueryClient } from '@tanstack/react-query';
import type { TrainyardClient } from '@trainyard/sdk/trainyard-client';
import { createContext, type ReactNode, useContext, useMemo } from 'react';
import { isUnauthenticated, type Session, sessionClient } from './api.js';

interface SessionState {
  session: Session;
  client: TrainyardClient;
  signOut(): Promise<void>;
}

const SessionContext = createContext<SessionState | undefined>(undefined);

export function useSession(): SessionState {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside a signed-in page');
  return s;
}

/** The client of the signed-in session (carries its CSRF token). */
export function useClient(): TrainyardClient {
  return useSession().client;
}

/** Asks the server whether the cookie holds a session; `null` when it does not. */
export function useCurrentSession() {
  return useQuery({
    queryKey: ['session'],
    queryFn: async (): Promise<Session | null> => {
      try {
        return (await sessionClient().session()) as Session;
      } catch (error) {
        if (isUnauthenticated(error)) return null;
        throw error;
      }
    },
    staleTime: Number.POSITIVE_INFINITY,
  });
}

export function SessionProvider({ session, children }: { session: Session; children: ReactNode }) {
  const queries = useQueryClient();
  const value = useMemo<SessionState>(() => {
    const client = sessionClient(session.csrfToken);
    return {
      session,
      client,
      signOut: async () => {
        await client.signOut();
        // Leave the signed-in pages first, so none of their queries refetches without a session.
        queries.setQueryData(['session'], null);
        queries.removeQueries({ predicate: (q) => q.queryKey[0] !== 'session' });
      },
    };
  }, [session, queries]);
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}
