import * as crypto from 'node:crypto';
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { TrainyardError } from '@trainyard/contracts/errors';

const base32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function base32Of(bytes: Uint8Array, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += base32[(bytes[i] ?? 0) & 31];
  return out;
}

/**
 * A 20-character access key id in AWS's shape ("TY" + 18 base32). Its first characters encode the
 * creation time, so ids sort by age and pages of keys are stable.
 */
export function newAccessKeyId(now = Date.now()): string {
  let time = '';
  let t = Math.floor(now);
  for (let i = 0; i < 9; i++) {
    time = base32[t % 32] + time;
    t = Math.floor(t / 32);
  }
  return `TY${time}${base32Of(randomBytes(9), 9)}`;
}

/** A 40-character secret (240 random bits): the bearer token and the AWS secret access key. */
export function newSecret(): string {
  return randomBytes(30).toString('base64url');
}

/** `crypto.hash` (Node 20.12+): one call, no Hash object; a fourth of createHash's cost per key check. */
const oneShot = (crypto as { hash?: (algorithm: string, data: string, encoding: 'hex') => string }).hash;

/** SHA-256 hex of a secret: how keys are stored and looked up (every bearer request hashes one). */
export function hashSecret(secret: string): string {
  return oneShot
    ? oneShot('sha256', secret, 'hex')
    : createHash('sha256').update(secret, 'utf8').digest('hex');
}

/**
 * Seals secrets with AES-256-GCM under the server's master key, so that the database alone never
 * yields a usable key, while SigV4 (which needs the secret itself) can still be verified.
 */
export class SecretSealer {
  readonly #key: Buffer;

  constructor(masterKey: string) {
    const key = Buffer.from(masterKey, 'base64url');
    if (key.length !== 32) {
      throw new TrainyardError('INVALID_ARGUMENT', 'masterKey: must be 32 bytes in base64url', {
        field: 'masterKey',
      });
    }
    this.#key = key;
  }

  static newMasterKey(): string {
    return randomBytes(32).toString('base64url');
  }

  seal(secret: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    const body = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
    return `v1.${iv.toString('base64url')}.${body.toString('base64url')}.${cipher.getAuthTag().toString('base64url')}`;
  }

  open(sealed: string): string {
    const [version, iv, body, tag] = sealed.split('.');
    if (version !== 'v1' || !iv || body === undefined || !tag) {
      throw new TrainyardError('INTERNAL', 'sealed secret has an unknown format');
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, Buffer.from(iv, 'base64url'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString(
        'utf8',
      );
    } catch (error) {
      throw new TrainyardError(
        'INTERNAL',
        'a sealed secret does not open with this master key',
        {},
        { cause: error },
      );
    }
  }
}
