// registers cdktf's jest matchers (toHaveResourceWithProperties, ...) and their types.
import { setupJest } from 'cdktf/lib/testing/adapters/jest';

setupJest();
