/** The client's own version facts, printed by `berth version` and `berth -v`. */
export const BERTH_CLI_VERSION = '0.1.0';
