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
    /// Turns unhandled exceptions and empty error answers of the gateway's own endpoints into
    /// problem+json. Proxied answers are not touched: they have a body or have started already.
    /// </summary>
    public static WebApplication UseGatewayProblems(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        return app;
    }
}
