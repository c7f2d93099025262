namespace OcpTalkdesk.Gateway.Commands;

/// <summary>What the process was asked to do.</summary>
public enum CommandKind
{
    /// <summary>Run the gateway (no command given).</summary>
    Serve,

    /// <summary><c>--help</c>: print the commands and options, start nothing.</summary>
    Help,

    /// <summary><c>healthcheck [url]</c>: the container's probe.</summary>
    HealthCheck,

    /// <summary><c>check-config</c>: load and check the configuration, like <c>nginx -t</c>.</summary>
    CheckConfig,

    /// <summary><c>validate</c>: check bodies against a schema and print one verdict per body.</summary>
    Validate,

    /// <summary><c>deliveries list|replay|discard</c>: operate the store-and-forward store.</summary>
    Deliveries,
}
