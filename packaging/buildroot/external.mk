# SPDX-License-Identifier: MIT
include $(sort $(wildcard $(BR2_EXTERNAL_FAULTD_PATH)/package/*/*.mk))
