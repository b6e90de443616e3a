// Node 20's fetch ignores HTTPS_PROXY (Node 24 reads it when NODE_USE_ENV_PROXY=1). The snippet tests preload this
// file (NODE_OPTIONS=--import=...) so that fetch, and the clients built on it, go through the proxy the environment
// names, as every other client in the tests does. The snippets themselves are run unchanged.
import { EnvHttpProxyAgent, setGlobalDispatcher } from "undici";

setGlobalDispatcher(new EnvHttpProxyAgent());
