"""A local sandbox of the vendors' APIs serving a rendered demo firm, with switchable deterministic faults.

Protocols (all on one 127.0.0.1 port, under the paths the real hosts use):
- Salesforce: POST /services/oauth2/token (client_credentials; jwt-bearer, RS256 verified against the
  configured public key when there is one, else claims only), GET /services/data/vXX.X/query?q=SOQL and
  /query/<locator>-<offset> (the SELECT/FROM/WHERE-AND/ORDER BY/LIMIT subset; batchSize from
  Sforce-Query-Options, never above PageCaps.salesforce), errors as [{message, errorCode}].
- NetSuite: POST /services/rest/auth/oauth2/v1/token (M2M JWT client assertion: kid, iss, aud, exp, scope
  checked; the PS256 signature verified when a public key is configured), OAuth 1.0a TBA headers (HMAC-SHA256
  signature recomputed), POST /services/rest/query/v1/suiteql?limit&offset with Prefer: transient, answered by
  DuckDB over the export items (columns the data never has are treated as always null, and so omitted).
- Ironclad: POST /oauth/token, GET /public/api/v1/records/metadata, /records?page&pageSize&types&lastUpdated
  &sortField&sortDirection, /workflows?status&page&pageSize; x-as-user-email (or -id) required.

Faults are flags only (`closedloop sandbox --fault KIND[@vendor][:every=N,first=K,seconds=S,status=C,
field=F,to=T,stream=S]`, or Sandbox(faults=[parse_fault(...)])): see faults.KINDS.
"""

from closedloop.sandbox.data import ensure_exports, find_exports
from closedloop.sandbox.faults import KINDS, Fault, FaultError, parse_fault
from closedloop.sandbox.server import Sandbox, build_app, secret_env, source_config
from closedloop.sandbox.state import Credentials, PageCaps

__all__ = [
    "KINDS",
    "Credentials",
    "Fault",
    "FaultError",
    "PageCaps",
    "Sandbox",
    "build_app",
    "ensure_exports",
    "find_exports",
    "parse_fault",
    "secret_env",
    "source_config",
]
