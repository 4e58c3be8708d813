// Preloaded (node --require) by the cold start benchmark: the Functions
// Framework listens on every interface; on a shared machine the benchmark's
// servers listen on 127.0.0.1 only.
const http = require("http");
const listen = http.Server.prototype.listen;
http.Server.prototype.listen = function (port, ...rest) {
  if (typeof port === "number" || typeof port === "string") {
    return listen.call(this, port, "127.0.0.1", ...rest);
  }
  return listen.call(this, port, ...rest);
};
