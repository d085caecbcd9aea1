import { join } from 'node:path';

/**
 * The environment for Debian's aws CLI or boto3 (`/usr/bin/aws`, `/usr/bin/python3`) signed with
 * `key`: a temp HOME and config files that do not exist, so no user config or credentials leak in.
 * `ENDPOINT` carries the server's URL for scripts (Debian's CLI and botocore predate
 * AWS_ENDPOINT_URL_*: the endpoint is passed explicitly).
 */
export function awsToolEnv(
  work: string,
  key: { id: string; secret: string },
  extra: Record<string, string> = {},
): NodeJS.ProcessEnv {
  return {
    PATH: '/usr/bin:/bin',
    HOME: work,
    AWS_ACCESS_KEY_ID: key.id,
    AWS_SECRET_ACCESS_KEY: key.secret,
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_CONFIG_FILE: join(work, 'no-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(work, 'no-credentials'),
    AWS_PAGER: '',
    ...extra,
  };
}
