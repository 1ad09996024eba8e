/** The tool version printed by `--version` and written into every JSON output's metadata. */
export const VERSION = '0.1.0';
