import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export const MIN_SECRET_LENGTH = 32;

/**
 * The JWT signing secret: `VESPERA_JWT_SECRET` when set (at least 32 characters), otherwise one generated
 * on first start into `<dataDir>/jwt.secret` with mode 0600 and reused afterwards.
 */
export const loadJwtSecret = (dataDir: string, fromEnv: string | undefined): Uint8Array => {
  if (fromEnv !== undefined && fromEnv !== '') return new TextEncoder().encode(fromEnv);
  const file = path.join(dataDir, 'jwt.secret');
  try {
    fs.writeFileSync(file, randomBytes(48).toString('base64url'), { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const secret = fs.readFileSync(file, 'utf8').trim();
  if (secret.length < MIN_SECRET_LENGTH)
    throw new Error(`${file} holds a secret shorter than ${MIN_SECRET_LENGTH} characters; delete it to generate a new one.`);
  return new TextEncoder().encode(secret);
};
