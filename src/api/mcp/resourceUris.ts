/** The URIs of Vespera's MCP resources (templates in resources.ts). Ids are percent-encoded, as RFC 6570 expands them. */
export const readyUri = (projectId: string): string => `vespera://projects/${encodeURIComponent(projectId)}/ready`;
export const dashboardUri = (projectId: string): string => `vespera://projects/${encodeURIComponent(projectId)}/dashboard`;
export const taskUri = (taskId: string): string => `vespera://tasks/${encodeURIComponent(taskId)}`;
