/**
 * Logging in for the auth scenarios. For the configurations the bench starts, a user is created
 * in a temporary DATA_DIR with the user store's CLI before any server starts (every configuration
 * of the run shares that directory and one SIGNING_KEY); for an external --target the credentials
 * come from --user/--password.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { probe } from './http-probe.ts';

/** The CLI that creates a user: `<cli> <name>`, password on stdin (written by the user-store work). */
export const CREATE_USER_CLI = 'app/store/cli-createuser.ts';

/** Username and password of the benchmark user. */
export interface Credentials {
  username: string;
  password: string;
}

/** A token pair as simplejwt's obtain view returns it. */
export interface TokenPair {
  access: string;
  refresh: string;
}

/** The server has no login route (404): its app does not include the auth endpoints. */
export class LoginRouteMissing extends Error {}

/** A way to log in to one configuration. */
export interface AuthSession {
  credentials: Credentials;
  /** POST /api/token/ once. */
  login(): Promise<TokenPair>;
  /** `count` fresh refresh tokens (one login each, a few at a time: logins are CPU-bound). */
  refreshTokens(count: number): Promise<string[]>;
}

/** A session against the API at `baseUrl`. `loginPath` is where the obtain view lives. */
export function authSession(baseUrl: string, credentials: Credentials, loginPath = '/api/token/'): AuthSession {
  const login = async (): Promise<TokenPair> => {
    const res = await probe(baseUrl + loginPath, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(credentials),
      timeoutMs: 10_000,
    });
    if (res.status === 404) throw new LoginRouteMissing(`POST ${loginPath} answered 404: the app has no auth endpoints (yet)`);
    if (res.status !== 200) throw new Error(`login as ${credentials.username} answered ${res.status}: ${res.body.slice(0, 200)}`);
    const pair = JSON.parse(res.body) as Partial<TokenPair>;
    if (typeof pair.access !== 'string' || typeof pair.refresh !== 'string') {
      throw new Error(`login answered 200 without access/refresh tokens: ${res.body.slice(0, 200)}`);
    }
    return { access: pair.access, refresh: pair.refresh };
  };
  return {
    credentials,
    login,
    async refreshTokens(count) {
      const out: string[] = [];
      const worker = async () => {
        while (out.length < count) {
          out.push('');
          const at = out.length - 1;
          out[at] = (await login()).refresh;
        }
      };
      await Promise.all(Array.from({ length: Math.min(4, count) }, worker));
      return out;
    },
  };
}

/**
 * Create the benchmark user in `dataDir` with the user store's CLI. Resolves to the credentials,
 * or rejects with a reason a reader can act on (CLI missing, CLI failed and what it said).
 */
export async function createBenchUser(projectRoot: string, dataDir: string, env: NodeJS.ProcessEnv): Promise<Credentials> {
  if (!existsSync(`${projectRoot}/${CREATE_USER_CLI}`)) {
    throw new Error(`the user store CLI ${CREATE_USER_CLI} does not exist (yet)`);
  }
  const credentials = { username: 'bench', password: `Pw-${randomBytes(12).toString('hex')}` };
  const child = spawn(process.execPath, ['--import', 'tsx', CREATE_USER_CLI, credentials.username], {
    cwd: projectRoot,
    env: { ...env, DATA_DIR: dataDir },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  child.stdin.end(credentials.password + '\n');
  const code = await new Promise<number | null>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${CREATE_USER_CLI} did not finish within 30 s`));
    }, 30_000);
    child.on('error', (e) => reject(e));
    child.on('close', (c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
  if (code !== 0) throw new Error(`${CREATE_USER_CLI} exited with code ${code}: ${output.trim().slice(0, 300)}`);
  return credentials;
}
