namespace OcpTalkdesk.Bench.Soak;

/// <summary>Which fault the upstream injects for event number n (the same rule on both sides).</summary>
internal static class Faults
{
    /// <summary>The first delivery is refused with 401: the gateway must renew its token and resend once.</summary>
    public static bool Unauthorized(int n) => n % 50 == 1;

    /// <summary>The answer comes after the gateway's 1 s execution timeout: 504.</summary>
    public static bool Slow(int n) => n % 200 == 2;

    /// <summary>The connection is reset without an answer: 502.</summary>
    public static bool Reset(int n) => n % 200 == 3;

    /// <summary>Every fifth event is invalid (or not JSON) and must never reach OCP®.</summary>
    public static bool Invalid(int n) => n % 5 == 4;
}
