/**
 * Exit codes with a meaning between a serving process and its supervisor, as in Gunicorn:
 * a supervisor that sees one of these stops instead of restarting the process in a loop.
 */

/** The process could not start serving (e.g. the address is in use): Gunicorn's WORKER_BOOT_ERROR. */
export const BOOT_ERROR = 3;
/** The app could not be imported or built: Gunicorn's APP_LOAD_ERROR. */
export const APP_LOAD_ERROR = 4;
