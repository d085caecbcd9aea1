export const quickstartRoutes = {};
