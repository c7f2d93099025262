using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;
using OcpTalkdesk.Gateway.Delivery;
using OcpTalkdesk.Gateway.InboundAuth;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Transforms;
using Yarp.ReverseProxy.Transforms.Builder;

namespace OcpTalkdesk.Gateway.Proxy;

/// <summary>
/// What reaches OCP® is an allow-list, not "whatever the caller sent minus a few headers": YARP's header
/// copy is turned off on every route and this transform puts back only the body's <c>Content-Type</c> and
/// <c>Content-Length</c>, the caller's trace context (<c>traceparent</c>, <c>tracestate</c>; replaced by
/// the gateway's own when it traces) and the headers the route lists in <c>Metadata:ForwardRequestHeaders</c>
/// (comma-separated). The bearer token, the idempotency key and YARP's <c>X-Forwarded-*</c> are added by
/// their own transforms. The caller's query string is dropped unless <c>Metadata:ForwardQueryString</c> is
/// <c>true</c>. YARP has no allow-list transform of its own (only per-header removal), hence this one.
/// </summary>
internal sealed class ForwardedRequestAllowList(InboundAuthMethods methods, IOptionsMonitor<InboundAuthOptions> inbound) : ITransformProvider
{
    /// <summary>The route metadata key listing extra request headers to forward.</summary>
    public const string HeadersKey = "ForwardRequestHeaders";

    /// <summary>The route metadata key that keeps the caller's query string.</summary>
    public const string QueryKey = "ForwardQueryString";

    // Never forwarded, whatever a route lists: credentials, cookies, framing and hop-by-hop headers, and
    // what the gateway writes itself.
    private static readonly HashSet<string> Never = new(StringComparer.OrdinalIgnoreCase)
    {
        HeaderNames.Authorization, HeaderNames.ProxyAuthorization, HeaderNames.Cookie, DeliveryAdminEndpoints.HeaderName, "X-API-Key",
        HeaderNames.Host, HeaderNames.Connection, HeaderNames.KeepAlive, "Proxy-Connection", HeaderNames.TransferEncoding, HeaderNames.TE,
        HeaderNames.Trailer, HeaderNames.Upgrade, HeaderNames.ContentEncoding, HeaderNames.ContentLength, HeaderNames.ContentType,
        IdempotencyKey.HeaderName, "Forwarded", "X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "X-Forwarded-Prefix",
        HeaderNames.TraceParent, HeaderNames.TraceState,
    };

    public void ValidateRoute(TransformRouteValidationContext context)
    {
        var route = context.Route;
        foreach (var transform in route.Transforms ?? [])
        {
            if (transform.TryGetValue("RequestHeadersCopy", out var copy) && bool.TryParse(copy, out var on) && on)
            {
                context.Errors.Add(new ArgumentException($"ReverseProxy:Routes:{route.RouteId}:Transforms: RequestHeadersCopy cannot be turned on; "
                    + $"the gateway forwards an allow-list: name extra headers in ReverseProxy:Routes:{route.RouteId}:Metadata:{HeadersKey}."));
            }
        }

        foreach (var header in ExtraHeaders(route))
        {
            if (Never.Contains(header) || IsInboundKeyHeader(header) || header.Any(c => c <= ' ' || c >= 127 || c == ':'))
            {
                context.Errors.Add(new ArgumentException($"ReverseProxy:Routes:{route.RouteId}:Metadata:{HeadersKey} names '{header}', which is never "
                    + "forwarded (credentials, cookies, framing and the headers the gateway writes itself) or is not a header name."));
            }
        }
    }

    private bool IsInboundKeyHeader(string header)
    {
        foreach (var method in methods.Names)
        {
            if (inbound.Get(method) is { Type: InboundAuthTypes.ApiKey } apiKey && string.Equals(apiKey.HeaderName, header, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    public void ValidateCluster(TransformClusterValidationContext context)
    {
    }

    public void Apply(TransformBuilderContext context)
    {
        context.CopyRequestHeaders = false;
        var extra = context.Route is { } route ? ExtraHeaders(route) : [];
        var keepQuery = context.Route?.Metadata is { } metadata && metadata.TryGetValue(QueryKey, out var query)
            && string.Equals(query, "true", StringComparison.OrdinalIgnoreCase);
        context.AddRequestTransform(transform =>
        {
            var request = transform.HttpContext.Request;
            var proxy = transform.ProxyRequest;
            if (proxy.Content is { } content)
            {
                if (request.ContentType is { } type)
                {
                    content.Headers.TryAddWithoutValidation(HeaderNames.ContentType, type);
                }

                if (request.ContentLength is { } length)
                {
                    content.Headers.ContentLength = length;
                }
            }

            var headers = request.Headers;
            CopyIfPresent(headers, proxy, HeaderNames.TraceParent);
            CopyIfPresent(headers, proxy, HeaderNames.TraceState);
            if (extra.Length > 0)
            {
                var connection = headers.Connection;
                foreach (var name in extra)
                {
                    // A header the caller names in Connection is hop-by-hop (RFC 9110 §7.6.1): it ends here.
                    if (!NamedIn(connection, name))
                    {
                        CopyIfPresent(headers, proxy, name);
                    }
                }
            }

            if (!keepQuery && request.QueryString.HasValue)
            {
                transform.Query = new QueryTransformContext(NoQuery.Request);
            }

            return ValueTask.CompletedTask;
        });
    }

    private static void CopyIfPresent(IHeaderDictionary headers, HttpRequestMessage proxy, string name)
    {
        if (headers.TryGetValue(name, out var values) && values.Count > 0)
        {
            proxy.Headers.TryAddWithoutValidation(name, (IEnumerable<string>)values!);
        }
    }

    private static bool NamedIn(StringValues connection, string name)
    {
        foreach (var value in connection)
        {
            foreach (var token in (value ?? string.Empty).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                if (string.Equals(token, name, StringComparison.OrdinalIgnoreCase))
                {
                    return true;
                }
            }
        }

        return false;
    }

    private static string[] ExtraHeaders(RouteConfig route) =>
        route.Metadata is { } metadata && metadata.TryGetValue(HeadersKey, out var list) && !string.IsNullOrWhiteSpace(list)
            ? list.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            : [];

    /// <summary>An empty request whose query string the transform forwards instead of the caller's.</summary>
    private static class NoQuery
    {
        public static readonly HttpRequest Request = new DefaultHttpContext().Request;
    }
}
