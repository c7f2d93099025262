using Microsoft.AspNetCore.Http.Features;
using Newtonsoft.Json.Linq;
using OcpTalkdesk.Gateway.Metrics;
using OcpTalkdesk.Gateway.Problems;

namespace OcpTalkdesk.Gateway.Validation;

/// <summary>
/// The schema step of the proxy pipeline. On a Talkdesk route it buffers the body (capped), checks its
/// syntax and finds <c>event_type</c> in one allocation-free scan, accepts a valid event on the fast
/// path or lets NJsonSchema decide, and either answers 4xx problem+json (the event never reaches
/// OCP®) or hands the original bytes on to the forwarder unchanged.
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
                "Unreadable request body", "The request body could not be read: " + ex.Message, UnknownEventType);
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

    /// <summary>The event's schema when it passes; otherwise writes the 400 and returns null.</summary>
    private async Task<EventSchema?> CheckAsync(HttpContext context, string routeId, EventCatalog catalog, BufferedBody body)
    {
        var syntaxError = EventScanner.Scan(body.Span, catalog, out var candidate);
        if (syntaxError is not null)
        {
            await RejectAsync(context, routeId, Outcome.RejectedMalformed, StatusCodes.Status400BadRequest, ProblemTypes.MalformedBody,
                "Malformed event", syntaxError, UnknownEventType);
            return null;
        }

        // The common case: a valid event, accepted in one pass over its bytes with no allocation.
        if (candidate?.Compiled is { } compiled && FastPathValidator.IsCertainlyValid(body.Span, compiled))
        {
            if (context.Features.Get<RequestTelemetry>() is { } fastTelemetry)
            {
                fastTelemetry.EventType = candidate.EventType;
            }

            return candidate;
        }

        // Everything else is decided, and every rejection explained, by NJsonSchema.
        var json = EventParser.Parse(body, out var parseError);
        if (json is null)
        {
            await RejectAsync(context, routeId, Outcome.RejectedMalformed, StatusCodes.Status400BadRequest, ProblemTypes.MalformedBody,
                "Malformed event", parseError!, UnknownEventType);
            return null;
        }

        if (json.TryGetValue("event_type", StringComparison.Ordinal, out var eventTypeToken) is false
            || eventTypeToken.Type != JTokenType.String
            || !catalog.TryGet((string)eventTypeToken!, out var schema))
        {
            var detail = eventTypeToken switch
            {
                null => "The event has no 'event_type'.",
                { Type: not JTokenType.String } => "The event's 'event_type' must be a string.",
                _ => "The event's 'event_type' is not one this gateway accepts.",
            };
            await RejectAsync(context, routeId, Outcome.RejectedMalformed, StatusCodes.Status400BadRequest, ProblemTypes.UnknownEventType,
                "Unknown event type", detail + " Accepted: " + string.Join(", ", catalog.AcceptedEventTypes) + ".",
                UnknownEventType, "acceptedEventTypes", catalog.AcceptedEventTypes);
            return null;
        }

        if (context.Features.Get<RequestTelemetry>() is { } telemetry)
        {
            telemetry.EventType = schema.EventType;
        }

        var violations = schema.Validate(json);
        if (violations.Count > 0)
        {
            CountViolations(routeId, schema.EventType, violations);
            await RejectAsync(context, routeId, Outcome.RejectedSchema, StatusCodes.Status400BadRequest, ProblemTypes.SchemaViolation,
                "Event does not match its schema",
                $"The '{schema.EventType}' event breaks its schema in {violations.Count} place(s).",
                schema.EventType, "errors", violations);
            return null;
        }

        return schema;
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
        string eventType, string? extensionName = null, object? extensionValue = null)
    {
        context.Features.Get<RequestTelemetry>()?.Set(outcome);
        ValidationLog.EventRejected(logger, routeId, status, type, eventType);
        return problems.WriteAsync(context, status, type, title, detail, extensionName, extensionValue);
    }
}
