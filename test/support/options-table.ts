/**
 * The README's "Options across commands" table, generated from the commands' declarations: every
 * flag that more than one command takes, with its environment variables and each command's
 * default. test/options-commands.test.ts checks the README against it; to refresh the README run
 *   node --import tsx -e "import('./test/support/options-table.ts').then((m) => console.log(m.optionsTable()))"
 */
import { ROTATEKEY_COMMAND } from '../../app/auth/rotatekey-command.ts';
import { BENCH_COMMAND } from '../../bench/options.ts';
import { CHANGEPASSWORD_COMMAND, CREATEUSER_COMMAND, SETACTIVE_COMMAND } from '../../app/store/store-commands.ts';
import { type AnyOption, type Command, defaultTextOf, envNamesOf, flagOf, type OptionTable } from '../../options/index.ts';
import { PROXY_COMMAND } from '../../proxy/options.ts';
import { DEV_COMMAND } from '../../server/dev/options.ts';
import { SERVE_COMMAND } from '../../server/options.ts';
import { NGINX_CONFIG_COMMAND } from '../../stack/nginx-options.ts';
import { START_COMMAND } from '../../stack/options.ts';

/** Every command, with the column title the table gives it and the script that runs it. */
export const COMMANDS: readonly { title: string; script: string; command: Command<OptionTable> }[] = [
  { title: 'start', script: 'stack/cli.ts', command: START_COMMAND },
  { title: 'serve', script: 'server/pool/cli.ts', command: SERVE_COMMAND },
  { title: 'proxy', script: 'proxy/cli.ts', command: PROXY_COMMAND },
  { title: 'dev', script: 'server/dev/cli.ts', command: DEV_COMMAND },
  { title: 'bench', script: 'bench/cli.ts', command: BENCH_COMMAND },
  { title: 'createuser', script: 'app/store/cli-createuser.ts', command: CREATEUSER_COMMAND },
  { title: 'changepassword', script: 'app/store/cli-changepassword.ts', command: CHANGEPASSWORD_COMMAND },
  { title: 'setactive', script: 'app/store/cli-setactive.ts', command: SETACTIVE_COMMAND },
  { title: 'rotatekey', script: 'app/auth/cli-rotatekey.ts', command: ROTATEKEY_COMMAND },
  { title: 'nginx-config', script: 'stack/nginx-config.ts', command: NGINX_CONFIG_COMMAND },
];

/** The options of every command by long flag: [command title, key, option]. */
export function optionsByFlag(): Map<string, [string, string, AnyOption][]> {
  const byFlag = new Map<string, [string, string, AnyOption][]>();
  for (const { title, command } of COMMANDS) {
    for (const [key, option] of Object.entries(command.options)) {
      const flag = flagOf(key, option);
      byFlag.set(flag, [...(byFlag.get(flag) ?? []), [title, key, option]]);
    }
  }
  return byFlag;
}

const cell = (text: string) => text.replaceAll('|', '\\|');

/** The Markdown table. */
export function optionsTable(): string {
  const titles = COMMANDS.map((c) => c.title);
  const lines = [
    `| option | environment | ${titles.join(' | ')} |`,
    `|---|---|${titles.map(() => '---').join('|')}|`,
  ];
  for (const [flag, users] of [...optionsByFlag()].filter(([, users]) => users.length > 1)) {
    const [, key, option] = users[0]!;
    const env = [...envNamesOf(key, option), ...[option.hostEnv, option.portEnv].filter((n) => n !== undefined)];
    const name = `${option.short ? `\`-${option.short}\`, ` : ''}\`--${flag}${option.switch ? '' : ` ${option.metavar}`}\``;
    const defaults = titles.map((title) => {
      const user = users.find(([t]) => t === title);
      return user === undefined ? '—' : cell(defaultTextOf(user[2]));
    });
    lines.push(`| ${cell(name)} | ${env.map((e) => `\`${e}\``).join(', ') || '—'} | ${defaults.join(' | ')} |`);
  }
  lines.push(`| \`-c\`, \`--config FILE\` | \`LAYERSTACK_CONFIG\` | ${titles.map(() => 'JSON').join(' | ')} |`);
  lines.push(`| \`--print-config\`, \`-h\`, \`--help\` | — | ${titles.map(() => 'yes').join(' | ')} |`);
  return lines.join('\n');
}
