/**
 * `node --import <this file>`: appends the URL of every module the process
 * resolves, one a line, to the file named by BERTH_TEST_MODULE_LOG. The
 * recording is done by a resolve hook (module-recorder-hooks.ts), which Node
 * runs on its loader thread; it writes synchronously, so nothing is lost when
 * the process exits.
 */
import { register } from 'node:module';

const file = process.env.BERTH_TEST_MODULE_LOG;
if (!file) throw new Error('module-recorder: BERTH_TEST_MODULE_LOG is not set');
register(new URL('./module-recorder-hooks.js', import.meta.url), { data: { file } });
