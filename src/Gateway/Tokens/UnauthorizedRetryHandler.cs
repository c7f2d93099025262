using System.Net;
using Microsoft.Net.Http.Headers;

namespace OcpTalkdesk.Gateway.Tokens;

/// <summary>
/// Sits in the forwarder's HTTP client. When OCP® answers 401 to a token the gateway attached, it
/// drops that token, obtains a new one and resends the same buffered event once; a second 401
/// passes back to Talkdesk. YARP itself never retries (yarp#56) and its request content can be sent
/// only once, so the resend carries the buffered bytes in content of its own.
/// </summary>
internal sealed class UnauthorizedRetryHandler(TokenCache cache, ILogger logger) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (!request.Options.TryGetValue(TokenForwarding.Key, out var forwarding) || forwarding.Body is not { } body)
        {
            return await base.SendAsync(request, cancellationToken);
        }

        // The first send streams the buffered bytes through YARP's own content; only a resend needs a copy.
        var response = await base.SendAsync(request, cancellationToken);
        if (response.StatusCode != HttpStatusCode.Unauthorized)
        {
            return response;
        }

        cache.Invalidate(forwarding.TokenClient, forwarding.Token);
        AccessToken renewed;
        try
        {
            renewed = await cache.GetAsync(forwarding.TokenClient, cancellationToken);
        }
        catch (TokenUnavailableException)
        {
            // Nothing better to send: OCP®'s 401 goes back as it is.
            return response;
        }

        TokenLog.UpstreamRejectedToken(logger, forwarding.TokenClient);
        response.Dispose();
        var resend = new HttpRequestMessage(request.Method, request.RequestUri)
        {
            Version = request.Version,
            VersionPolicy = request.VersionPolicy,
            Content = Replayable(request.Content, body),
        };
        foreach (var header in request.Headers)
        {
            if (!string.Equals(header.Key, HeaderNames.Authorization, StringComparison.OrdinalIgnoreCase))
            {
                resend.Headers.TryAddWithoutValidation(header.Key, header.Value);
            }
        }

        resend.Headers.TryAddWithoutValidation(HeaderNames.Authorization, renewed.HeaderValue);
        return await base.SendAsync(resend, cancellationToken);
    }

    private static ReadOnlyMemoryContent Replayable(HttpContent? original, ReadOnlyMemory<byte> body)
    {
        var content = new ReadOnlyMemoryContent(body);
        if (original is not null)
        {
            foreach (var header in original.Headers)
            {
                content.Headers.TryAddWithoutValidation(header.Key, header.Value);
            }
        }

        return content;
    }
}
