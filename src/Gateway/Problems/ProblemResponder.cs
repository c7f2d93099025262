using System.Diagnostics;
using Microsoft.AspNetCore.Mvc;

namespace OcpTalkdesk.Gateway.Problems;

/// <summary>
/// Writes the gateway's own error answers as <c>application/problem+json</c> through ASP.NET Core's
/// <see cref="IProblemDetailsService"/>, with the correlation id every answer carries. Used only on
/// the error path.
/// </summary>
internal sealed class ProblemResponder(IProblemDetailsService problemDetails)
{
    public const string ContentType = "application/problem+json";

    public async Task WriteAsync(HttpContext context, int status, string type, string title, string detail,
        string? extensionName = null, object? extensionValue = null, string? secondName = null, object? secondValue = null)
    {
        var problem = new ProblemDetails
        {
            Status = status,
            Type = type,
            Title = title,
            Detail = detail,
            Instance = context.Request.Path,
        };
        problem.Extensions["traceId"] = CorrelationId(context);
        if (extensionName is not null)
        {
            problem.Extensions[extensionName] = extensionValue;
        }

        if (secondName is not null)
        {
            problem.Extensions[secondName] = secondValue;
        }

        context.Response.StatusCode = status;
        // The default writer declines when the caller's Accept header excludes JSON; Talkdesk must
        // still get a body it can log, so fall back to writing it ourselves.
        if (!await problemDetails.TryWriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = problem }))
        {
            await context.Response.WriteAsJsonAsync(problem, (System.Text.Json.JsonSerializerOptions?)null, ContentType);
        }
    }

    /// <summary>
    /// The W3C trace context of the request (its Activity, or else the caller's <c>traceparent</c> when
    /// per-request activities are off, as they are by default for speed), else the request id.
    /// </summary>
    internal static string CorrelationId(HttpContext context)
    {
        if (Activity.Current?.Id is { } id)
        {
            return id;
        }

        var traceparent = context.Request.Headers["traceparent"].ToString();
        return ActivityContext.TryParse(traceparent, null, out _) ? traceparent : context.TraceIdentifier;
    }
}
