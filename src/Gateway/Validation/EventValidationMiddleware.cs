using Microsoft.AspNetCore.Http.Features;
using OcpTalkdesk.Gateway.Metrics;
using OcpTalkdesk.Gateway.Outcomes;
using OcpTalkdesk.Gateway.Problems;
using OcpTalkdesk.Gateway.Tracing;

namespace OcpTalkdesk.Gateway.Validation;

/// <summary>
/// The schema step of the proxy pipeline, a thin adapter around <see cref="EventValidator"/>: on a
/// Talkdesk route it buffers the body (capped), asks the validator, and either answers 4xx
/// problem+json (the event never reaches OCP®) or hands the original bytes on to the forwarder
/// unchanged.
/// </summary>
internal sealed class EventValidationMiddleware(RequestDelegate next, SchemaRegistry registry,
    ProblemResponder problems, GatewayMetrics metrics, ILogger<EventValidationMiddleware> logger)
{
    private const string UnknownEventType = MetricLabels.UnknownEventType;

    public async Task InvokeAsync(HttpContext context)
    {
        var route = context.GetReverseProxyFeature().Route.Config;
        if (!TalkdeskRoutes.IsTalkdeskRoute(route))
        {
            await next(context);
            return;
        }

        var request = context.Request;
        if (!JsonContentType.IsAccepted(request.ContentType))
        {
            await RejectAsync(context, route.RouteId, Outcome.RejectedMalformed, StatusCodes.Status415UnsupportedMediaType, ProblemTypes.UnsupportedMediaType,
                "Unsupported media type", "Talkdesk events must be sent as 'application/json' in UTF-8.", UnknownEventType);
            return;
        }

        // Bodies are checked as the bytes they are; a compressed body would be validated as garbage, or
        // forwarded with a Content-Encoding that no longer says what OCP® receives.
        if (request.Headers.ContentEncoding is { Count: > 0 } encoding && !IsIdentity(encoding))
        {
            await RejectAsync(context, route.RouteId, Outcome.RejectedMalformed, StatusCodes.Status415UnsupportedMediaType, ProblemTypes.UnsupportedMediaType,
                "Unsupported content encoding", "Talkdesk events must be sent uncompressed (no Content-Encoding, or 'identity').", UnknownEventType);
            return;
        }

        var catalog = registry.Current;
        // Kestrel enforces the cap on the socket too, also while it drains an unread remainder.
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } serverLimit)
        {
            serverLimit.MaxRequestBodySize = catalog.MaxEventBytes + 1L;
        }

        BufferedBody? body;
        try
        {
            body = await BufferedBody.ReadAsync(request, catalog.MaxEventBytes, context.RequestAborted);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            body = null;
        }
        catch (BadHttpRequestException ex)
        {
            // Kestrel's own limits and framing errors (a Content-Length that lies, a body too slow).
            await RejectAsync(context, route.RouteId, Outcome.RejectedMalformed, ex.StatusCode, ProblemTypes.BadRequest,
                "Unreadable request body", "The request body could not be read: " + ex.Message, UnknownEventType, cause: ex.Message);
            return;
        }
        catch (IOException ex) when (!context.RequestAborted.IsCancellationRequested)
        {
            // Kestrel's chunked decoder reports some framing errors (a chunk size that overflows) as an
            // IOException rather than a BadHttpRequestException: the caller's error all the same.
            await RejectAsync(context, route.RouteId, Outcome.RejectedMalformed, StatusCodes.Status400BadRequest, ProblemTypes.BadRequest,
                "Unreadable request body", "The request body could not be read: " + ex.Message, UnknownEventType, cause: ex.Message);
            return;
        }

        if (body is null)
        {
            await RejectAsync(context, route.RouteId, Outcome.RejectedMalformed, StatusCodes.Status413PayloadTooLarge, ProblemTypes.BodyTooLarge,
                "Event too large", $"The body is larger than the {catalog.MaxEventBytes} bytes allowed.", UnknownEventType);
            return;
        }

        using (body)
        {
            var schema = await CheckAsync(context, route.RouteId, catalog, body);
            if (schema is null)
            {
                return;
            }

            context.Features.Set(new ValidatedEvent(schema, body));
            request.Body = body.OpenRead();
            // The length is known now: forward with Content-Length even if Talkdesk sent chunks.
            request.Headers.TransferEncoding = default;
            request.ContentLength = body.Length;
            // The body was read here; the server's limit no longer applies to the buffered copy (yarp#2533).
            if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
            {
                limit.MaxRequestBodySize = null;
            }

            await next(context);
        }
    }

    private static bool IsIdentity(Microsoft.Extensions.Primitives.StringValues encoding)
    {
        foreach (var value in encoding)
        {
            foreach (var token in (value ?? string.Empty).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                if (!string.Equals(token, "identity", StringComparison.OrdinalIgnoreCase))
                {
                    return false;
                }
            }
        }

        return true;
    }

    /// <summary>The event's schema when it passes; otherwise writes the 400 and returns null.</summary>
    private async Task<EventSchema?> CheckAsync(HttpContext context, string routeId, EventCatalog catalog, BufferedBody body)
    {
        using var activity = GatewayTracing.Source.StartActivity("ocp.validate");
        var verdict = EventValidator.ValidateEvent(body.Memory, catalog);
        if (activity is not null)
        {
            activity.SetTag(GatewayTracing.EventType, verdict.Schema?.EventType ?? UnknownEventType);
            activity.SetTag(GatewayTracing.Outcome, verdict.Kind == VerdictKind.Valid ? "valid" : "rejected");
            // On the request's span too: the conversation is what an operator looks for.
            GatewayTracing.RequestSpan(context)?.SetTag(GatewayTracing.ConversationId, Delivery.ConversationKey.Find(body.Memory.Span));
        }

        if (verdict.Schema is { } schema && context.Features.Get<CallOutcome>() is { } call)
        {
            call.EventType = schema.EventType;
        }

        switch (verdict.Kind)
        {
            case VerdictKind.Valid:
                return verdict.Schema;
            case VerdictKind.Malformed:
                await RejectAsync(context, routeId, Outcome.RejectedMalformed, StatusCodes.Status400BadRequest, ProblemTypes.MalformedBody,
                    "Malformed event", verdict.Detail!, UnknownEventType);
                return null;
            case VerdictKind.UnknownEventType:
                await RejectAsync(context, routeId, Outcome.RejectedMalformed, StatusCodes.Status400BadRequest, ProblemTypes.UnknownEventType,
                    "Unknown event type", verdict.Detail!, UnknownEventType, "acceptedEventTypes", catalog.AcceptedEventTypes);
                return null;
            case VerdictKind.SchemaError:
                ValidationLog.SchemaUnusable(logger, verdict.Schema!.EventType, verdict.Schema.SchemaFile, verdict.Detail!);
                await RejectAsync(context, routeId, Outcome.RejectedSchema, StatusCodes.Status500InternalServerError, ProblemTypes.SchemaError,
                    "The event's schema cannot be evaluated",
                    $"The schema configured for '{verdict.Schema.EventType}' could not be evaluated; the event was not forwarded. The operator must fix the schema file.",
                    verdict.Schema.EventType);
                return null;
            default:
                var eventType = verdict.Schema!.EventType;
                var total = verdict.Violations.Count + verdict.OmittedViolations;
                CountViolations(routeId, eventType, verdict.Violations);
                var detail = verdict.OmittedViolations == 0
                    ? $"The '{eventType}' event breaks its schema in {total} place(s)."
                    : $"The '{eventType}' event breaks its schema in {total} place(s); the first {verdict.Violations.Count} are listed.";
                await RejectAsync(context, routeId, Outcome.RejectedSchema, StatusCodes.Status400BadRequest, ProblemTypes.SchemaViolation,
                    "Event does not match its schema", detail, eventType, "errors", verdict.Violations,
                    verdict.OmittedViolations == 0 ? null : "omittedErrors", verdict.OmittedViolations);
                return null;
        }
    }

    /// <summary>One count per failing keyword, so "which rule breaks most" is one query.</summary>
    private void CountViolations(string routeId, string eventType, IReadOnlyList<SchemaViolation> violations)
    {
        for (var i = 0; i < violations.Count; i++)
        {
            var keyword = violations[i].Keyword;
            var seen = false;
            for (var j = 0; j < i && !seen; j++)
            {
                seen = violations[j].Keyword == keyword;
            }

            if (!seen)
            {
                metrics.SchemaRejected(routeId, eventType, keyword);
            }
        }
    }

    private Task RejectAsync(HttpContext context, string routeId, Outcome outcome, int status, string type, string title, string detail,
        string eventType, string? extensionName = null, object? extensionValue = null, string? secondName = null, object? secondValue = null,
        string? cause = null)
    {
        context.Features.Get<CallOutcome>()?.Decide(outcome);
        ValidationLog.EventRejected(logger, routeId, status, cause is null ? type : type + " (" + cause + ")", eventType, ProblemResponder.CorrelationId(context));
        return problems.WriteAsync(context, status, type, title, detail, extensionName, extensionValue, secondName, secondValue);
    }
}
