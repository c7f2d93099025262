using Microsoft.Extensions.Options;

namespace OcpTalkdesk.Gateway.Delivery;

/// <summary>Checks <c>Gateway:Delivery</c> at start-up; every message names the key.</summary>
internal sealed class DeliveryOptionsValidator(IConfiguration configuration) : IValidateOptions<DeliveryOptions>
{
    public ValidateOptionsResult Validate(string? name, DeliveryOptions options)
    {
        const string Section = DeliveryOptions.SectionName;
        var failures = new List<string>();
        var executionTimeout = configuration.GetValue("Gateway:ExecutionTimeout", Timeouts.ExecutionTimeoutOptions.Default);
        if (options.AttemptBudget <= TimeSpan.Zero
            || (options.Mode == DeliveryMode.StoreAndForward && options.AttemptBudget >= executionTimeout))
        {
            failures.Add($"{Section}:AttemptBudget must be more than 0 and less than Gateway:ExecutionTimeout ({executionTimeout}), so a parked event is answered 202 in time; it is {options.AttemptBudget}.");
        }

        for (var i = 0; i < options.RetrySchedule.Count; i++)
        {
            if (options.RetrySchedule[i] <= TimeSpan.Zero)
            {
                failures.Add($"{Section}:RetrySchedule:{i} must be more than 0; it is {options.RetrySchedule[i]}.");
            }
        }

        foreach (var (key, value) in new[] { ("MaxAge", options.MaxAge), ("DedupWindow", options.DedupWindow), ("LeaseDuration", options.LeaseDuration), ("PollInterval", options.PollInterval) })
        {
            if (value <= TimeSpan.Zero)
            {
                failures.Add($"{Section}:{key} must be more than 0; it is {value}.");
            }
        }

        if (options.LeaseDuration <= options.AttemptBudget)
        {
            failures.Add($"{Section}:LeaseDuration must be longer than {Section}:AttemptBudget, or another replica could take over an event still being delivered; it is {options.LeaseDuration}.");
        }

        if (options.Mode == DeliveryMode.StoreAndForward && options.Store == DeliveryStoreKind.Postgres
            && string.IsNullOrWhiteSpace(configuration.GetConnectionString(DeliveryOptions.ConnectionStringName)))
        {
            failures.Add($"ConnectionStrings:{DeliveryOptions.ConnectionStringName} is required with {Section}:Store=Postgres (an Npgsql connection string, e.g. Host=db;Database=gateway;Username=gateway;Password=…).");
        }

        for (var i = 0; i < options.AdminApiKeys.Count; i++)
        {
            if (options.AdminApiKeys[i] is not { Length: >= 16 })
            {
                failures.Add($"{Section}:AdminApiKeys:{i} must be at least 16 characters.");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
