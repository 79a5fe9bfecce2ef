/** The product version: `vespera --version`, /health, and the MCP server's name. */
export const VERSION = '0.1.0';
