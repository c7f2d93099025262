namespace OcpTalkdesk.Gateway.Tokens;

/// <summary>Log messages of the token step. Never a secret, a token or an assertion.</summary>
internal static partial class TokenLog
{
    [LoggerMessage(3001, LogLevel.Debug, "Token client {TokenClient} obtained a token (expires_in {ExpiresIn} s)")]
    public static partial void TokenObtained(ILogger logger, string tokenClient, int expiresIn);

    [LoggerMessage(3002, LogLevel.Warning, "Token client {TokenClient} could not obtain a token: {OAuthError}; cached token still valid: {HasValidToken}; retrying in {RetrySeconds} s")]
    public static partial void TokenRequestFailed(ILogger logger, string tokenClient, string oAuthError, bool hasValidToken, double retrySeconds);

    [LoggerMessage(3003, LogLevel.Warning, "No token for route {RouteId} (token client {TokenClient}, error {OAuthError}); answered 503 (traceId {TraceId})")]
    public static partial void TokenUnavailable(ILogger logger, string routeId, string tokenClient, string oAuthError, string traceId);

    [LoggerMessage(3004, LogLevel.Information, "Upstream refused the token of client {TokenClient} with 401; renewing and resending once")]
    public static partial void UpstreamRejectedToken(ILogger logger, string tokenClient);
}
