// The proxy is test/support/tcp-proxy.ts now, shared with the adapters' fault tests; this path
// stays for the crash tests written against it on other branches.
export { TcpProxy } from '../support/tcp-proxy';
