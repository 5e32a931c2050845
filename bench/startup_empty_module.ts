/**
 * A module of nothing, for `startup.ts`: what importing any local module costs
 * a fresh process.
 *
 * @module
 */

export {};
