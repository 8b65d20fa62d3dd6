"""Statistics for supervisors (the /supervision/stats dashboard) and the open-data export that exposes no one."""
