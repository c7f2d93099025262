using Yarp.ReverseProxy.Forwarder;

namespace OcpTalkdesk.Gateway.Tokens;

/// <summary>YARP's forwarder client with the 401 renew-and-resend handler on top.</summary>
internal sealed class TokenForwarderHttpClientFactory(TokenCache cache, ILogger<UnauthorizedRetryHandler> logger) : ForwarderHttpClientFactory
{
    protected override HttpMessageHandler WrapHandler(ForwarderHttpClientContext context, HttpMessageHandler handler) =>
        new UnauthorizedRetryHandler(cache, logger) { InnerHandler = base.WrapHandler(context, handler) };
}
