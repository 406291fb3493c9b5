// Checks tokens with Atlassian's JS library (npm "atlassian-jwt"), as atlassian-connect-express
// does: the signature with decodeSymmetric (shared secret, HS256) or decodeAsymmetric (a PEM
// public key, RS256), then the query string hash of the request, computed by the library from
// the method, the URL and the app's base URL. Reads a JSON array of cases on standard input;
// writes a JSON array with one result per case on standard output.
"use strict";

const atlassianJwt = require("atlassian-jwt");

function check(item) {
  try {
    const claims = item.publicKey
      ? atlassianJwt.decodeAsymmetric(
          item.token,
          item.publicKey,
          atlassianJwt.AsymmetricAlgorithm.RS256,
        )
      : atlassianJwt.decodeSymmetric(
          item.token,
          item.secret,
          atlassianJwt.SymmetricAlgorithm.HS256,
        );
    const request = atlassianJwt.fromMethodAndUrl(item.method, item.url);
    return {
      claims: claims,
      canonical: atlassianJwt.createCanonicalRequest(request, false, item.appBaseUrl),
      qsh: atlassianJwt.createQueryStringHash(request, false, item.appBaseUrl),
      now: Math.floor(Date.now() / 1000),
      version: atlassianJwt.version,
    };
  } catch (error) {
    return { error: String((error && error.message) || error) };
  }
}

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => {
  input += chunk;
});
process.stdin.on("end", () => {
  process.stdout.write(JSON.stringify(JSON.parse(input).map(check)));
});
