import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import type { TestServer } from './platform-fixture.js';

type Role = 'admin' | 'developer' | 'viewer' | 'invoker';

/**
 * A fresh access key of `role` on a listening test server and a SageMaker SDK client signed with
 * it (real SigV4, one attempt: the SDK would otherwise retry refusals the tests expect).
 */
export async function sageMakerClientOf(
  t: TestServer & { baseUrl: string },
  role: Role,
  keyName = `sm-${role}-${Math.random().toString(36).slice(2, 8)}`,
): Promise<{ client: SageMakerClient; key: { id: string; secret: string } }> {
  const created = await t.platform.keys.create(keyName, role);
  const key = { id: created.id, secret: created.secret };
  const client = new SageMakerClient({
    endpoint: t.baseUrl,
    region: 'us-east-1',
    credentials: { accessKeyId: key.id, secretAccessKey: key.secret },
    maxAttempts: 1,
  });
  return { client, key };
}
