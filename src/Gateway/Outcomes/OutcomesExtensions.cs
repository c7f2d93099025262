namespace OcpTalkdesk.Gateway.Outcomes;

/// <summary>The step that owns each proxied call's outcome: its timeout and upstream-error answers and its metrics.</summary>
public static class OutcomesExtensions
{
    /// <summary>
    /// Adds the outcome step. It goes after the execution timeout starts (so it sees it expire) and
    /// before inbound auth (so refused callers are counted by the same step as every other call).
    /// </summary>
    public static WebApplication UseCallOutcomes(this WebApplication app)
    {
        app.UseMiddleware<OutcomeMiddleware>();
        return app;
    }
}
