/** `npm run dev`'s options, in the shared vocabulary (see options/). */
import { DATA_DIR_OPTION } from '../../app/store/data-dir.ts';
import { boolean, type Command, list, listenOption } from '../../options/index.ts';
import { APP_OPTION, HOSTED_APP_OPTIONS } from '../options.ts';

const OPTIONS = {
  listen: listenOption('127.0.0.1:8000', { portZero: true, help: 'Address the development server listens on.' }),
  app: APP_OPTION,
  dataDir: DATA_DIR_OPTION,
  reload: boolean({ default: true, help: 'Watch the source folders and reload on every change (--no-reload: serve as started).' }),
  watch: list({ metavar: 'FOLDER', default: ['app', 'server', 'proxy'], help: 'Folders watched for changes.' }),
  ...HOSTED_APP_OPTIONS,
};

export const DEV_COMMAND: Command<typeof OPTIONS> = {
  name: 'npm run dev',
  summary:
    'The development server (runserver): one node:http process that reloads on every change and shows stack traces to anyone who asks. NOT for production: run `npm start`.',
  options: OPTIONS,
};
