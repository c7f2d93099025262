using Microsoft.Extensions.DependencyInjection.Extensions;

namespace OcpTalkdesk.Gateway.Problems;

/// <summary>Registers RFC 9457 problem details for every answer the gateway makes itself.</summary>
public static class ProblemsExtensions
{
    /// <summary>
    /// Adds ASP.NET Core's problem details (never with a stack trace, outside Development too) and
    /// the responder the gateway's steps use.
    /// </summary>
    public static IHostApplicationBuilder AddGatewayProblems(this IHostApplicationBuilder builder)
    {
        // ASP.NET Core's writer sets traceId from the Activity only; this runs after it and also
        // honours the caller's traceparent when per-request activities are off.
        builder.Services.AddProblemDetails(options => options.CustomizeProblemDetails = context =>
            context.ProblemDetails.Extensions["traceId"] = ProblemResponder.CorrelationId(context.HttpContext));
        builder.Services.TryAddSingleton<ProblemResponder>();
        return builder;
    }

    /// <summary>
    /// Turns unhandled exceptions and empty error answers of the gateway's own endpoints (health, metrics, admin,
    /// console) into problem+json. Not on the Talkdesk routes (docs/decisions/0010): there the outcome step answers
    /// every failure itself, an unhandled exception included, and OCP®'s answers must reach Talkdesk untouched, so
    /// the two steps would only cost every event a feature object and two frames.
    /// </summary>
    public static WebApplication UseGatewayProblems(this WebApplication app)
    {
        // Routing has run (WebApplication adds it first), so the endpoint says whether this is a proxied route.
        app.UseWhen(static context => !context.IsProxiedRoute(), static own =>
        {
            own.UseExceptionHandler();
            own.UseStatusCodePages();
        });
        return app;
    }

    /// <summary>True on a route YARP proxies (the Talkdesk event routes).</summary>
    internal static bool IsProxiedRoute(this HttpContext context) =>
        context.GetEndpoint()?.Metadata.GetMetadata<Yarp.ReverseProxy.Model.RouteModel>() is not null;
}
