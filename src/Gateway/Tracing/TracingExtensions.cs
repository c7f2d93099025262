using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace OcpTalkdesk.Gateway.Tracing;

/// <summary>OpenTelemetry tracing: off unless <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> or <c>Gateway:Tracing:Enabled</c> turns it on.</summary>
public static class TracingExtensions
{
    /// <summary>
    /// When on: one trace per event — the inbound request (ASP.NET Core), validation, a token fetch when one
    /// happens, YARP's forward and the upstream call (HttpClient, which sends W3C <c>traceparent</c> on to
    /// OCP®), and a parked event's later delivery attempts as spans linked to the original trace; exported
    /// with OTLP, configured by the standard <c>OTEL_*</c> variables. When off, nothing is registered.
    /// </summary>
    public static IHostApplicationBuilder AddGatewayTracing(this IHostApplicationBuilder builder)
    {
        if (!IsEnabled(builder.Configuration))
        {
            return builder;
        }

        var serviceName = builder.Configuration[TracingOptions.SectionName + ":ServiceName"] ?? new TracingOptions().ServiceName;
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(serviceName))
            .WithTracing(tracing => tracing
                .AddSource(GatewayTracing.SourceName, GatewayTracing.YarpSourceName)
                .AddAspNetCoreInstrumentation(o => o.RecordException = false)
                .AddHttpClientInstrumentation(o => o.RecordException = false)
                .AddOtlpExporter());
        return builder;
    }

    /// <summary>Read at start-up: on when configured so, else when an OTLP endpoint is given.</summary>
    internal static bool IsEnabled(IConfiguration configuration) =>
        bool.TryParse(configuration[TracingOptions.SectionName + ":Enabled"], out var enabled)
            ? enabled
            : !string.IsNullOrWhiteSpace(configuration[TracingOptions.OtlpEndpointVariable]);
}
