namespace OcpTalkdesk.Gateway.Tracing;

/// <summary><c>Gateway:Tracing</c>: OpenTelemetry tracing, exported over OTLP (the standard <c>OTEL_*</c> variables).</summary>
public sealed class TracingOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Gateway:Tracing";

    /// <summary>The standard variable that, when set, turns tracing on unless <see cref="Enabled"/> says otherwise.</summary>
    public const string OtlpEndpointVariable = "OTEL_EXPORTER_OTLP_ENDPOINT";

    /// <summary>On, off, or (unset) on exactly when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set. Read at start-up.</summary>
    public bool? Enabled { get; set; }

    /// <summary>The <c>service.name</c> resource attribute, unless <c>OTEL_SERVICE_NAME</c> sets it.</summary>
    public string ServiceName { get; set; } = "ocp-talkdesk-gateway";
}
