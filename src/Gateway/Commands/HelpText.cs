namespace OcpTalkdesk.Gateway.Commands;

/// <summary>What <c>--help</c> prints.</summary>
internal static class HelpText
{
    public const string Usage = """
        OCP® ⇄ Talkdesk edge gateway

        Usage:
          OcpTalkdesk.Gateway [configuration arguments]        run the gateway
          OcpTalkdesk.Gateway check-config [configuration arguments]
              Load the configuration exactly as serving does (appsettings, environment, command
              line, secrets directory), check every option, route, cluster and schema, call nothing
              over the network. Prints one line per problem and exits 1, or a summary and exits 0.
          OcpTalkdesk.Gateway validate --schema FILE [--jsonl] [INPUT]
          OcpTalkdesk.Gateway validate --event-type NAME [--jsonl] [INPUT]
              Check one body (or, with --jsonl, one body per line) from INPUT (a file, or - for
              standard input, the default) against a schema file or the schema configured for an
              event type. Prints one JSON object per body: {"valid":true} or
              {"valid":false,"errors":[{"pointer":…,"keyword":…,"message":…}]}.
              Exits 0 when all are valid, 1 when any is invalid, 2 when the schema or the input
              cannot be used (the reason on standard error).
          OcpTalkdesk.Gateway deliveries list [--state pending|leased|dead|stale|delivered|discarded|expired] [--limit N]
          OcpTalkdesk.Gateway deliveries replay ID|--all
          OcpTalkdesk.Gateway deliveries discard ID
          OcpTalkdesk.Gateway deliveries erase --conversation ID
          OcpTalkdesk.Gateway deliveries rekey
              Operate the store-and-forward store (Gateway:Delivery:Mode=StoreAndForward): list held
              events as JSON lines (no bodies), send dead-lettered ones again (an event with the dead
              events behind it in its conversation), or discard one.
          OcpTalkdesk.Gateway healthcheck [URL]
              Exit 0 when URL (default http://127.0.0.1:9090/healthz) answers 2xx.
          OcpTalkdesk.Gateway --help

        Options:
          --verbose                 start-up failures also print the exception and its stack trace
          --urls URLS               where to listen (ASP.NET Core), e.g. http://0.0.0.0:8080;http://0.0.0.0:9090
          --environment NAME        Development, Staging, Production (default Production)
          --KEY=VALUE               any configuration key, e.g. --Gateway:ExecutionTimeout=00:00:09
        Every key can also be set as an environment variable (':' becomes '__') or as a file in the
        secrets directory (SecretsDirectory, default /run/secrets). See README.md.
        """;
}
