/**
 * How the app server reads its --bind address: Gunicorn's syntax, where `:8001` and `8001` mean
 * loopback and port 0 lets the system choose (the stack and the tests use that).
 */
import type { AddressRules } from '../wire/address.ts';

export const LISTEN_ADDRESS: AddressRules = Object.freeze({ defaultHost: '127.0.0.1', portZero: true });
